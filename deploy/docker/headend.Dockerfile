# Head-end image: builds the workspace, keeps only what the head-end needs at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.json ./
COPY protocols/package.json protocols/
COPY simulators/package.json simulators/
COPY gateway/package.json gateway/
COPY headend/package.json headend/
RUN npm ci
COPY protocols protocols
COPY simulators simulators
COPY gateway gateway
COPY headend headend
RUN npx tsc -b protocols headend && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
EXPOSE 1883 8080
CMD ["node", "headend/bin/amr-headend.js", "serve"]
