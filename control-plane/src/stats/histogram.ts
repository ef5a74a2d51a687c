// A mergeable latency histogram with fixed log-scale buckets (DDSketch's logarithmic mapping): a value v > 0 falls
// in bucket k = ceil(log_γ v) with γ = (1 + α) / (1 − α), and the bucket answers 2γ^k / (γ + 1), which is within
// α of every value in it. α = 1 %: a percentile read from a histogram is within 1 % of a value of the data at
// that rank (the bound is 2 %). Zero (a call under a millisecond) has a bucket of its own.
//
// Histograms of any minutes, hours or days merge by adding counts, so a rollup row holds one, and a period's
// percentiles come from merging the rows of its buckets. Stored as bytes: the zero count, then each non-empty
// bucket as (index delta, count), varints — a minute of a steady function is a few dozen bytes.
//
// (@datadog/sketches-js implements DDSketch, but its serialised form is its dense store, ≈ 1 KiB for three
// distinct values, and decoding drops the sum: unfit for a row per minute. Its mapping is the two lines below.)

/** The relative accuracy of a bucket's value. */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
/** Values at or below this count as zero (durations are whole milliseconds; this is for safety with fractions). */
const MIN_VALUE = 1e-9;

export class Histogram {
  zero = 0;
  /** Bucket index → count. */
  readonly counts = new Map<number, number>();

  get count(): number {
    let n = this.zero;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  add(value: number, count = 1): void {
    this.addBucket(bucketOf(value), count);
  }

  /** Adds to a bucket given by bucketOf(). */
  addBucket(k: number, count = 1): void {
    if (k === -Infinity) this.zero += count;
    else this.counts.set(k, (this.counts.get(k) ?? 0) + count);
  }

  merge(other: Histogram): this {
    this.zero += other.zero;
    for (const [k, c] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    return this;
  }

  /**
   * The value at quantile q (0–1) by the nearest-rank rule (the smallest value with at least q of the data at or
   * below it), within RELATIVE_ACCURACY of that value of the data; 0 when empty.
   */
  quantile(q: number): number {
    const n = this.count;
    if (!n) return 0;
    const rank = Math.max(1, Math.ceil(q * n));
    let seen = this.zero;
    if (seen >= rank) return 0;
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(k)!;
      if (seen >= rank) return (2 * Math.pow(GAMMA, k)) / (GAMMA + 1);
    }
    return 0; // unreachable: the counts add up to n
  }

  encode(): Buffer {
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    const out: number[] = [];
    varint(out, this.zero);
    let prev = 0;
    for (const k of keys) {
      varint(out, zigzag(k - prev));
      varint(out, this.counts.get(k)!);
      prev = k;
    }
    return Buffer.from(out);
  }

  static decode(bytes: Uint8Array | null | undefined): Histogram {
    const h = new Histogram();
    if (!bytes?.length) return h;
    const r = { at: 0 };
    h.zero = readVarint(bytes, r);
    let k = 0;
    while (r.at < bytes.length) {
      k += unzigzag(readVarint(bytes, r));
      h.counts.set(k, (h.counts.get(k) ?? 0) + readVarint(bytes, r));
    }
    return h;
  }
}

/** The bucket a value falls in (-Infinity: the zero bucket): computed once per call, whatever the rows it goes to. */
export function bucketOf(value: number): number {
  return value > MIN_VALUE ? Math.ceil(Math.log(value) / LN_GAMMA) : -Infinity;
}

/**
 * Two encoded histograms merged into one encoding, without decoding either into a map: both list their buckets in
 * order, so one pass merges them (the writer does this for every rollup row it touches).
 */
export function mergeEncoded(a: Uint8Array, b: Uint8Array): Buffer {
  if (!a.length) return Buffer.from(b);
  if (!b.length) return Buffer.from(a);
  // The merge is never longer than both inputs together (a key's delta only shrinks; a summed count takes at most
  // the bytes of the two it replaces), plus a byte for the zero count's carry.
  const out = new Writer(a.length + b.length + 1);
  const ra = new Reader(a);
  const rb = new Reader(b);
  out.varint(ra.varint() + rb.varint());
  let ka = 0;
  let kb = 0;
  let ca = -1;
  let cb = -1;
  if (ra.more()) (ka += unzigzag(ra.varint())), (ca = ra.varint());
  if (rb.more()) (kb += unzigzag(rb.varint())), (cb = rb.varint());
  let prev = 0;
  while (ca >= 0 || cb >= 0) {
    let k: number;
    let c: number;
    if (cb < 0 || (ca >= 0 && ka < kb)) {
      k = ka;
      c = ca;
      ca = ra.more() ? ((ka += unzigzag(ra.varint())), ra.varint()) : -1;
    } else if (ca < 0 || kb < ka) {
      k = kb;
      c = cb;
      cb = rb.more() ? ((kb += unzigzag(rb.varint())), rb.varint()) : -1;
    } else {
      k = ka;
      c = ca + cb;
      ca = ra.more() ? ((ka += unzigzag(ra.varint())), ra.varint()) : -1;
      cb = rb.more() ? ((kb += unzigzag(rb.varint())), rb.varint()) : -1;
    }
    out.varint(zigzag(k - prev));
    out.varint(c);
    prev = k;
  }
  return out.done();
}

class Reader {
  at = 0;
  constructor(private readonly b: Uint8Array) {}
  more(): boolean {
    return this.at < this.b.length;
  }
  varint(): number {
    const b = this.b;
    const first = b[this.at++];
    if (first === undefined) throw new Error('truncated histogram');
    if (first < 0x80) return first;
    let n = first & 0x7f;
    let scale = 0x80;
    for (;;) {
      const byte = b[this.at++];
      if (byte === undefined) throw new Error('truncated histogram');
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 0x80;
    }
  }
}

class Writer {
  private readonly buf: Buffer;
  private at = 0;
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity + 16);
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

const zigzag = (n: number) => (n >= 0 ? 2 * n : -2 * n - 1);
const unzigzag = (n: number) => (n % 2 ? -(n + 1) / 2 : n / 2);

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function readVarint(b: Uint8Array, r: { at: number }): number {
  let n = 0;
  let scale = 1;
  for (;;) {
    if (r.at >= b.length) throw new Error('truncated histogram');
    const byte = b[r.at++]!;
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return n;
    scale *= 0x80;
  }
}
