/**
 * A small typed builder for ONNX models, serialising the protobuf wire format directly (field numbers
 * from onnx.proto), so that graph code needs no protobuf package and runs unchanged in Node and the
 * browser. Only what our graphs use: nodes with int/float/ints/tensor/graph attributes (a graph: the body
 * of a Scan), initializers as raw little-endian data, and inputs/outputs with named (dynamic) or fixed
 * dimensions.
 */

export type ElemType = 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'bool';

const ELEM_CODE: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, bfloat16: 16 };

/** A dimension: a fixed size or a symbolic name (`'T'`) for a dynamic one. */
export type Dim = number | string;

export type AttrValue = number | number[] | { float: number } | { floats: number[] } | { tensor: TensorInit } | { graph: OnnxGraphBuilder };

/**
 * Element bytes produced while the graph is written, straight into the output buffer: a weight
 * converted to another dtype is never held as a whole second copy.
 */
export interface TensorBytes {
  byteLength: number;
  writeInto(dst: Uint8Array): void;
}

/** Where an initializer's bytes live outside the graph (ONNX external data: a file name, offset, length). */
export interface ExternalBytes {
  location: string;
  offset: number;
  length: number;
}

export interface TensorInit {
  type: ElemType;
  dims: number[];
  /** Raw little-endian element bytes, or bytes made while writing, or a reference to external data. */
  data: Uint8Array | TensorBytes | { external: ExternalBytes };
}

interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  domain: string;
  attrs: Record<string, AttrValue>;
}

interface ValueDef {
  name: string;
  type: ElemType;
  dims: Dim[];
}

const utf8 = new TextEncoder();

/**
 * Protobuf wire-format writer that runs the same fills twice: first counting (every nested message's
 * length recorded in the order the messages start), then writing into one buffer of the exact size.
 * No nested message is ever copied into its parent.
 */
export class Writer {
  private pos = 0;
  private next = 0;

  private constructor(
    private readonly out: Uint8Array | undefined,
    private readonly lengths: number[],
  ) {}

  /** The message `fill` writes, sized first and then written once. */
  static serialise(fill: (w: Writer) => void): Uint8Array {
    const sizer = new Writer(undefined, []);
    fill(sizer);
    const w = new Writer(new Uint8Array(sizer.pos), sizer.lengths);
    fill(w);
    return w.out!;
  }

  private byte(b: number): void {
    if (this.out) this.out[this.pos] = b;
    this.pos++;
  }

  private raw(b: Uint8Array): void {
    this.out?.set(b, this.pos);
    this.pos += b.length;
  }

  varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.byte(v);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  bytes(field: number, b: Uint8Array | TensorBytes): void {
    this.tag(field, 2);
    this.varint(b.byteLength);
    if (b instanceof Uint8Array) this.raw(b);
    else {
      if (this.out) b.writeInto(this.out.subarray(this.pos, this.pos + b.byteLength));
      this.pos += b.byteLength;
    }
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
  }

  message(field: number, fill: (w: Writer) => void): void {
    this.tag(field, 2);
    if (this.out) {
      this.varint(this.lengths[this.next++]);
      fill(this);
      return;
    }
    const slot = this.lengths.length;
    this.lengths.push(0);
    // The length prefix is counted after the body: its own size depends on the body's.
    const start = this.pos;
    fill(this);
    const length = this.pos - start;
    this.lengths[slot] = length;
    this.pos += varintSize(length);
  }

  packedInts(field: number, vs: readonly number[]): void {
    this.message(field, (w) => {
      for (const v of vs) w.varint(v);
    });
  }

  packedFloats(field: number, vs: readonly number[]): void {
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    this.bytes(field, b);
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeTensor(w: Writer, name: string, t: TensorInit): void {
  w.packedInts(1, t.dims);
  w.int(2, ELEM_CODE[t.type]);
  if (name) w.string(8, name);
  if ('external' in t.data) {
    const { location, offset, length } = t.data.external;
    for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
      w.message(13, (e) => {
        e.string(1, key);
        e.string(2, value);
      });
    }
    w.int(14, 1);
  } else {
    w.bytes(9, t.data);
  }
}

function writeAttr(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    w.int(3, v);
    w.int(20, 2);
  } else if (Array.isArray(v)) {
    w.packedInts(8, v);
    w.int(20, 7);
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, 1);
  } else if ('floats' in v) {
    w.packedFloats(7, v.floats);
    w.int(20, 6);
  } else if ('tensor' in v) {
    w.message(5, (t) => writeTensor(t, '', v.tensor));
    w.int(20, 4);
  } else {
    w.message(6, (g) => v.graph.writeGraph(g));
    w.int(20, 5);
  }
}

function writeValueInfo(w: Writer, v: ValueDef): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_CODE[v.type]);
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Little-endian bytes of a typed array (a view, no copy, when already aligned). */
export function bytesOf(a: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function int64Tensor(dims: number[], values: readonly number[]): TensorInit {
  return { type: 'int64', dims, data: bytesOf(BigInt64Array.from(values.map((v) => BigInt(v)))) };
}

export class OnnxGraphBuilder {
  private nodes: NodeDef[] = [];
  private initializers: { name: string; t: TensorInit }[] = [];
  private inputs: ValueDef[] = [];
  private outputs: ValueDef[] = [];
  private counter = 0;
  private readonly domains = new Set<string>();

  constructor(
    private readonly opset = 17,
    /** Set for a subgraph: names come from the outermost graph's counter (no clash with outer scope). */
    private readonly parent?: OnnxGraphBuilder,
    private readonly name = 'graph',
  ) {}

  /** A fresh tensor name with a readable prefix. */
  fresh(prefix: string): string {
    return this.parent ? this.parent.fresh(prefix) : `${prefix}_${this.counter++}`;
  }

  /** A graph to be a node's attribute (e.g. Scan's body); it may use this graph's tensors by name. */
  subgraph(name: string): OnnxGraphBuilder {
    return new OnnxGraphBuilder(this.opset, this, name);
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push({ name, type, dims });
    return name;
  }

  output(name: string, type: ElemType, dims: Dim[]): string {
    this.outputs.push({ name, type, dims });
    return name;
  }

  initializer(name: string, t: TensorInit): string {
    this.initializers.push({ name, t });
    return name;
  }

  /** Adds a node; returns its output names (fresh ones unless given). */
  node(op: string, inputs: string[], opts: { outputs?: string[] | number; attrs?: Record<string, AttrValue>; domain?: string } = {}): string[] {
    const outputs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(op));
    const domain = opts.domain ?? '';
    if (domain) this.root().domains.add(domain);
    this.nodes.push({ op, inputs, outputs, domain, attrs: opts.attrs ?? {} });
    return outputs;
  }

  /** Single-output node. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, name?: string, domain?: string): string {
    return this.node(op, inputs, { outputs: name ? [name] : 1, attrs, domain })[0];
  }

  private root(): OnnxGraphBuilder {
    return this.parent ? this.parent.root() : this;
  }

  /** Serialises to ONNX ModelProto bytes (IR version 8). */
  build(graphName = 'graph'): Uint8Array {
    return Writer.serialise((w) => this.write(w, graphName));
  }

  /** The GraphProto's fields. */
  writeGraph(g: Writer, graphName = this.name): void {
    for (const n of this.nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(4, n.op);
        for (const [k, v] of Object.entries(n.attrs)) nw.message(5, (a) => writeAttr(a, k, v));
        if (n.domain) nw.string(7, n.domain);
      });
    }
    g.string(2, graphName);
    for (const { name, t } of this.initializers) g.message(5, (tw) => writeTensor(tw, name, t));
    for (const v of this.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of this.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  }

  private write(w: Writer, graphName: string): void {
    w.int(1, 8);
    w.string(2, 'attention-inspector');
    w.message(7, (g) => this.writeGraph(g, graphName));
    w.message(8, (o) => o.int(2, this.opset));
    for (const d of this.domains) {
      w.message(8, (o) => {
        o.string(1, d);
        o.int(2, 1);
      });
    }
  }
}
