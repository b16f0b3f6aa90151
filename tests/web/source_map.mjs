// Answers questions about a source map with Mozilla's `source-map` consumer, an
// implementation independent of the one that wrote it (buildtools/wasmmap).
// node source_map.mjs MAP.json QUESTIONS.json: questions are
// {generated: {source, line}} (the lowest wasm offset the line maps to) or
// {original: column} (the Go file, line and function at a wasm offset); the
// answers are printed as one JSON array.
import { readFileSync } from "node:fs";
import sourceMap from "source-map";

const raw = JSON.parse(readFileSync(process.argv[2], "utf8"));
const questions = JSON.parse(readFileSync(process.argv[3], "utf8"));
const answers = await sourceMap.SourceMapConsumer.with(raw, null, (consumer) => questions.map((q) => {
  if (q.generated) {
    const all = consumer.allGeneratedPositionsFor({ source: q.generated.source, line: q.generated.line, column: 0 });
    return all.length ? Math.min(...all.map((p) => p.column)) : null;
  }
  return consumer.originalPositionFor({ line: 1, column: q.original, bias: sourceMap.SourceMapConsumer.GREATEST_LOWER_BOUND });
}));
console.log(JSON.stringify({ answers, sources: raw.sources.length, contents: raw.sourcesContent.filter((c) => c).length }));
