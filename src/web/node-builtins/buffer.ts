/** Browser stand-in for node:buffer (the web build maps node:buffer here): the largest typed array a page may allocate. */
export const constants = Object.freeze({ MAX_LENGTH: 2 ** 31 - 1 });
