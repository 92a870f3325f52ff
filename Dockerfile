# One image for every Sealmail process; docker-compose.yml picks the command per service.
FROM node:20-bookworm-slim
RUN npm install -g pnpm@12.21.0
WORKDIR /app
COPY . .
# The front ends (Vite) and the server processes (esbuild bundles in dist/, scripts/build-services.mjs):
# the services run as plain `node dist/<name>.mjs`, with no TypeScript loader at run time.
RUN pnpm install --frozen-lockfile \
 && for app in web admin viewer; do (cd apps/$app && node ../../node_modules/vite/bin/vite.js build); done \
 && node scripts/build-services.mjs
ENV NODE_ENV=production SEALMAIL_BIND_HOST=0.0.0.0 SEALMAIL_DATA_DIR=/data
USER node
CMD ["node", "dist/api.mjs"]
