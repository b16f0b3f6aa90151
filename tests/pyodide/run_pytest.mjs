// Runs pytest inside real Pyodide under Node: the app runs on Python 3.14 in
// the browser but CPython 3.11 here, so its tests must pass on both.
//
//   node tests/pyodide/run_pytest.mjs <tests dir> <wheel>... [-- pytest args]
// Exit code: pytest's.
import path from "node:path";
import { loadPyodide } from "../../node_modules/pyodide/pyodide.mjs";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const [testsDir, ...wheels] = split < 0 ? argv : argv.slice(0, split);
const pytestArgs = split < 0 ? [] : argv.slice(split + 1);

const pyodide = await loadPyodide();
const writer = (stream) => ({ write: (bytes) => (stream.write(Buffer.from(bytes)), bytes.length) });
pyodide.setStdout(writer(process.stdout));
pyodide.setStderr(writer(process.stderr));
await pyodide.loadPackage(wheels.map((wheel) => path.resolve(wheel)), { messageCallback() {} });
pyodide.FS.mkdirTree("/work/tests");
pyodide.mountNodeFS("/work/tests", path.resolve(testsDir));
pyodide.globals.set("pytest_args", pyodide.toPy(["-p", "no:cacheprovider", "/work/tests", ...pytestArgs]));
const code = pyodide.runPython(`
import sys
sys.dont_write_bytecode = True
import pytest
print("Python", sys.version.split()[0], "in Pyodide")
int(pytest.main(list(pytest_args)))
`);
process.exit(code);
