// Build-time only (not shipped): boots Pyodide under Node from the very files
// that dist/ serves, installs the pure wheels into its file system, imports
// every module they hold, and writes a memory snapshot. A worker that
// loads it skips Pyodide's boot and the wheel installs.
//
//   node web/make-snapshot.mjs <pyodide dir> <out file> <wheel>...
//
// Nothing here may leave a live JavaScript reference in Python's state (the
// snapshot would refuse it, unless it is a path from globalThis such as the
// js module), so wheels are unzipped with zipfile, not loadPackage.
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
tops = set()
for name in sorted(os.listdir("/tmp/wheels")):
    with zipfile.ZipFile(os.path.join("/tmp/wheels", name)) as wheel:
        wheel.extractall(target)
        tops |= {entry.split("/")[0].removesuffix(".py") for entry in wheel.namelist() if ".dist-info/" not in entry}
    os.remove(os.path.join("/tmp/wheels", name))
import importlib
importlib.invalidate_caches()
# Every module of every wheel, so that a restored worker imports nothing from files: the
# snapshot holds Python's heap, not its file system, and the worker then installs no wheel.
# Importing js is fine here: the snapshot records it as a path from globalThis, which the
# restore walks again in the worker.
import pkgutil
for top in sorted(tops):
    package = importlib.import_module(top)
    for found in pkgutil.walk_packages(getattr(package, "__path__", []), top + "."):
        importlib.import_module(found.name)
`);
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(`snapshot: ${snapshot.length} bytes`);
