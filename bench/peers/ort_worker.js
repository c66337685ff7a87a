// ort_worker.js: ONNX Runtime (onnxruntime-node) side of bench/compare: the ONNX export, one
// timed inference per "run" line on stdin. argv: MODEL.onnx THREADS INPUT.f32 (raw float32, NCHW)
// DIMS (comma-separated).
const ort = require('onnxruntime-node');
const fs = require('fs');
const readline = require('readline');

async function main() {
  const [model, threads, input, dims] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all'});
  const buf = fs.readFileSync(input);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data,
                                                         dims.split(',').map(Number))};
  await session.run(feeds);
  console.log('ready');
  const rl = readline.createInterface({input: process.stdin});
  for await (const line of rl) {
    if (line.trim() === 'quit') break;
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    console.log(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
