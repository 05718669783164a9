// byoc's own shim (part of byoc, not of the package it drives): a resident policy evaluator.
//
// It loads @cloud-copilot/iam-simulate (AGPL-3.0-or-later), which byoc does NOT ship: byoc installs
// it separately, with `npm ci` from the package-lock.json beside this file, into the user's cache
// (or the user points BYOC_EVALUATOR_DIR at a folder prepared the same way), and runs this file as
// a separate process: `node server.mjs <folder holding node_modules>`.
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in order.
//   {"id": n, "hello": true}       -> {"id": n, "package": "@cloud-copilot/iam-simulate", "version": "..."}
//   {"id": n, "simulation": {...}} -> {"id": n, "resultType", "overallResult", "ignoredContextKeys",
//                                      "denials", "grants", "sameAccount", "analysis", "errors"}
// Nothing else is ever written to stdout (console.log goes to stderr). The process exits when stdin
// closes. It opens no socket and reads no file but the package.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const PACKAGE = '@cloud-copilot/iam-simulate';

// stdout is the protocol: anything a library prints goes to stderr instead.
for (const name of ['log', 'info', 'debug', 'dir', 'table']) {
  console[name] = (...args) => console.error(...args);
}

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node server.mjs <folder holding node_modules/@cloud-copilot/iam-simulate>');
  process.exit(2);
}

// The package has `exports` but no `main`: resolve it by name from the folder that holds its
// node_modules (createRequire), never by a file path into the package.
let sim, version;
try {
  const require = createRequire(join(folder, 'package.json'));
  sim = require(PACKAGE);
  version = JSON.parse(readFileSync(join(folder, 'node_modules', PACKAGE, 'package.json'), 'utf8')).version;
} catch (err) {
  console.error(`cannot load ${PACKAGE} from ${folder}: ${err && err.message}`);
  process.exit(3);
}

function write(answer) {
  process.stdout.write(JSON.stringify(answer) + '\n');
}

// Per policy type: the evaluator's result for that type (absent: not evaluated / no such policy).
function summary(analysis) {
  const pick = (a) => (a ? a.result : undefined);
  return {
    identity: pick(analysis.identityAnalysis),
    resource: pick(analysis.resourceAnalysis),
    permissionBoundary: pick(analysis.permissionBoundaryAnalysis),
    endpoint: pick(analysis.endpointAnalysis),
  };
}

async function answer(request) {
  if (request.hello) {
    return { id: request.id, package: PACKAGE, version };
  }
  let result;
  try {
    result = await sim.runSimulation(request.simulation, {});
  } catch (err) {
    return { id: request.id, resultType: 'error', errors: { message: `the evaluator threw: ${err && err.message}` } };
  }
  const out = { id: request.id, resultType: result.resultType };
  if (result.resultType === 'error') {
    out.errors = result.errors;
  } else if (result.resultType === 'single') {
    const analysis = result.result.analysis;
    out.overallResult = result.overallResult;
    out.ignoredContextKeys = result.result.ignoredContextKeys ?? [];
    out.denials = sim.getDenialReasons(analysis);
    out.grants = sim.getGrantReasons(analysis);
    out.sameAccount = analysis.sameAccount;
    out.analysis = summary(analysis);
  } else {
    // 'wildcard': one simulation per matching resource; byoc asks about one concrete resource.
    out.overallResult = result.overallResult;
    out.resources = (result.results ?? []).length;
  }
  return out;
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    write({ id: null, resultType: 'error', errors: { message: `not a JSON request line: ${err.message}` } });
    continue;
  }
  write(await answer(request));
}
