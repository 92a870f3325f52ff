-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "summary" BYTEA;
