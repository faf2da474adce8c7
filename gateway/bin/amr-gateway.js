#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in dist/ (`npm run build` at the root).
import '../dist/cli/amr-gateway.js';
