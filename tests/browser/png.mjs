// png: a minimal PNG encoder (8-bit grey or RGB, no filtering) for the browser test's inputs, and a
// hand-drawn stroke image that looks like a digit, used when examples/*.png is absent.
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

// pixels: width*height*channels bytes, row-major; channels 1 (grey) or 3 (RGB).
export function encodePng(width, height, channels, pixels) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 0;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    Buffer.from(pixels.buffer, pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// A 28x28 grey "7": white strokes on black, MNIST-like.
export function digitPng() {
  const n = 28;
  const px = new Uint8Array(n * n);
  const stroke = (x0, y0, x1, y1) => {
    for (let t = 0; t <= 1; t += 0.01) {
      const x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
      for (let dy = -1.5; dy <= 1.5; dy += 0.5) {
        for (let dx = -1.5; dx <= 1.5; dx += 0.5) {
          const xi = Math.round(x + dx), yi = Math.round(y + dy);
          if (xi < 0 || yi < 0 || xi >= n || yi >= n) continue;
          const v = Math.max(0, 255 - 60 * Math.hypot(dx, dy));
          px[yi * n + xi] = Math.max(px[yi * n + xi], v);
        }
      }
    }
  };
  stroke(7, 7, 21, 7);
  stroke(21, 7, 12, 22);
  return encodePng(n, n, 1, px);
}
