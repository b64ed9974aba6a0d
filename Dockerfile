# syntax=docker/dockerfile:1
# Build stage: compile isolated-vm (native) and bundle the runtime with esbuild.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY runtime ./runtime
COPY scripts/build.mjs ./scripts/build.mjs
RUN npm run build
# Only the packages the bundle keeps external (native isolated-vm, WASM PGlite).
WORKDIR /src/dist
RUN npm install --omit=dev --no-audit --no-fund --no-package-lock

# Runtime stage: the bundle and its native modules, nothing else.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /src/dist ./
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
# isolated-vm needs this flag on Node 20.
CMD ["node", "--no-node-snapshot", "main.mjs"]
