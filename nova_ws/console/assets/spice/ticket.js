// spice-html5's ticket module, with the encrypted ticket at its full length.
//
// Served at /src/ticket.js in place of spice-html5's own (which this wraps,
// from /upstream/ticket.js). spice-html5 0.2.1 turns the RSA ciphertext
// into bytes through its hex string, so a ciphertext whose first byte is 0
// (about 1 in 256, and 2 in 256 lose half a byte) comes out one byte short;
// the SPICE server cannot decrypt it and denies the channel. RSA ciphertexts
// are as long as the key's modulus: left-pad with zero bytes to that length.

import { create_rsa_from_mb, rsa_encrypt as encryptShort } from '../upstream/ticket.js';

export { create_rsa_from_mb };

/** The ticket `str` encrypted with the public key `rsa`, modulus-length bytes (null on failure). */
export function rsa_encrypt(rsa, str) {
    const bytes = encryptShort(rsa, str);
    if (!bytes) {
        return bytes;
    }
    const size = (rsa.n.bitLength() + 7) >> 3;
    return bytes.length >= size ? bytes : [...new Array(size - bytes.length).fill(0), ...bytes];
}
