# syntax=docker/dockerfile:1
# node:24-bookworm-slim as published on 2026-08-25 (Node 24.19.0, the version of the `node`
# devDependency that development and tests run on), pinned by its multi-platform index digest
# as docker-library/repo-info records it. Move both stages and that devDependency together.
# Build stage: bundle the runtime with esbuild. Nothing compiles: isolated-vm loads its prebuild.
FROM node:24-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY runtime ./runtime
COPY scripts/build.mjs ./scripts/build.mjs
RUN npm run build
# Only the packages the bundle keeps external (native isolated-vm, WASM PGlite, Bull Board),
# from the lockfile build.mjs cuts from ours.
WORKDIR /src/dist
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: the bundle and its external packages, nothing else.
FROM node:24-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df
ENV NODE_ENV=production
# A task starts in a new container, so a compile cache it wrote would only ever serve a restart
# it never has (docs/benchmarks.md: no gain for a fresh start); leave it off.
ENV NODE_DISABLE_COMPILE_CACHE=1
WORKDIR /app
COPY --from=build --chown=node:node /src/dist ./
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
# runtime/limits.ts NODE_ARGS_BY_ROLE: the ECS task definitions give each role its own flags.
CMD ["node", "--no-node-snapshot", "main.mjs"]
