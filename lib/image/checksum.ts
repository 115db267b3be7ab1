/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and gzip: reflected 0xEDB88320), for the image's
 * checksums. Our own rather than zlib.crc32, which Node 20 has only from 20.15 on. Table-driven, one
 * byte per step: about 400 MB/s here, so segment 0 (1 MiB) costs under 3 ms.
 */
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** The CRC-32 of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
