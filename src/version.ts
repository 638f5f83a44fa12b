/**
 * The library's version, as package.json says (a test checks that they agree). A checkpoint
 * records it, so a file tells which version wrote it.
 *
 * @example
 * VERSION; // '0.1.0'
 */
export const VERSION = '0.1.0';
