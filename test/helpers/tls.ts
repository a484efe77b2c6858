// The test-only certificate in test/fixtures/tls (self-signed, localhost/127.0.0.1/::1).
import { readFileSync } from 'node:fs';

const dir = new URL('../fixtures/tls/', import.meta.url);
export const TEST_CERT = readFileSync(new URL('cert.pem', dir));
export const TEST_KEY = readFileSync(new URL('key.pem', dir));
export const TEST_CERT_PATH = new URL('cert.pem', dir).pathname;
export const TEST_KEY_PATH = new URL('key.pem', dir).pathname;
