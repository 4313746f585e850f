import { readFileSync } from 'node:fs';

// Read once at start-up (not on any request path).
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
