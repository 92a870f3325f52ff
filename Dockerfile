# One image for every Sealmail process; docker-compose.yml picks the command per service.
FROM node:20-bookworm-slim
RUN npm install -g pnpm@12.21.0
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile \
 && for app in web admin viewer; do (cd apps/$app && node ../../node_modules/vite/bin/vite.js build); done
ENV NODE_ENV=production SEALMAIL_BIND_HOST=0.0.0.0 SEALMAIL_DATA_DIR=/data
USER node
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
