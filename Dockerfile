# One image for both processes: the api (default command) and the Temporal worker
# (`node dist/apps/worker/src/main.js`). Debian (glibc), not Alpine: @temporalio/worker loads a
# native core-bridge binary and bundles workflows with @swc/core, both built for glibc. Node 22 LTS: Node 20 is
# past its end of life, and nestjs-pino and content-disposition declare Node 22.
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: full dependencies (typescript is a devDependency), compile the production code to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script reports analytics; package.json's
# allowScripts denies it, but the npm 10 shipped with Node 22 ignores allowScripts (npm 11 only warns).
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
# apps, libs, workflows, activities (tsconfig.build.json) and the portal; the tooling (tools/) is not in the context.
RUN npm run build

# ---- runtime: production dependencies, compiled code, SQL migrations ----
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false
# package.json also marks the project root: libs/config/project-root.ts walks up from dist/ to find it.
COPY package.json package-lock.json ./
COPY patches ./patches
# Production dependencies include what the worker needs at start to bundle the workflow code
# (@temporalio/worker with webpack and @swc/core).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/ holds the compiled api, worker, workflows, activities and libs, and the built tenant portal (dist/portal,
# served at /portal/); nothing of tools/ (launcher, embedded Postgres, bench, fault harness).
COPY --from=build /app/dist ./dist
# node-pg-migrate reads the .sql files from <project root>/libs/db/migrations on every start.
COPY libs/db/migrations ./libs/db/migrations
# The gRPC server loads its service definition from the .proto at start.
COPY proto ./proto
# The node image's unprivileged `node` user, numeric so runAsNonRoot-style checks can verify it.
USER 1000:1000
# 3000: REST API and OpenAPI page (PORT); 50051: gRPC (GRPC_PORT).
EXPOSE 3000 50051
CMD ["node", "dist/apps/api/src/main.js"]
