// Build-time only (not shipped): boots Pyodide under Node from the very files
// that dist/ serves, installs the pure wheels into its file system, imports
// the host's pure-Python modules, and writes a memory snapshot. A worker that
// loads it skips Pyodide's boot and the wheel installs.
//
//   node web/make-snapshot.mjs <pyodide dir> <out file> <wheel>...
//
// Nothing here may leave a live JavaScript reference in Python's state (the
// snapshot would refuse it), so wheels are unzipped with zipfile, not
// loadPackage, and edgebox._pyodide (which imports js) is imported later.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadPyodide } from "../node_modules/pyodide/pyodide.mjs";

const [pyodideDir, out, ...wheels] = process.argv.slice(2);
const pyodide = await loadPyodide({ indexURL: `${path.resolve(pyodideDir)}/`, _makeSnapshot: true });
pyodide.FS.mkdirTree("/tmp/wheels");
for (const wheel of wheels) pyodide.FS.writeFile(`/tmp/wheels/${path.basename(wheel)}`, readFileSync(wheel));
pyodide.runPython(`
import os, sys, zipfile, site
target = site.getsitepackages()[0]
for name in sorted(os.listdir("/tmp/wheels")):
    with zipfile.ZipFile(os.path.join("/tmp/wheels", name)) as wheel:
        wheel.extractall(target)
    os.remove(os.path.join("/tmp/wheels", name))
import importlib
importlib.invalidate_caches()
import edgebox  # and, through it, every standard module the host uses
import edgebox._http  # box.fetch's pure half; only edgebox._pyodide (it imports js) waits for the restore
`);
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(`snapshot: ${snapshot.length} bytes`);
