/** Standard base64 (RFC 4648 §4, padded) of bytes, in the browser and in Node (`btoa` over 32 KiB slices). */
export function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
