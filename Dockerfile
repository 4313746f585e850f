# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript in a build stage, run the compiled gateway as a non-root
# user on Node LTS. Certificates and config are mounted (no key material is baked into the image).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-fund --no-audit && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The image's own user; mount certs/ (and your config) readable by it.
USER node
EXPOSE 8443 9901 9902
# /readyz is 200 only with a loaded config and not draining (see README "Health and lifecycle").
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, compiled JS, no npm/npx or shell in between: the gateway itself is PID 1, so SIGTERM
# reaches it and drains it (test/deploy/dockerfile.test.ts runs exactly this command line).
# Kubernetes: deploy/kubernetes/ passes its own --config as args.
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--config", "config/gateway.yaml"]
