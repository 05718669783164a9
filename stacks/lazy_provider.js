'use strict';
/*
 * Node side of the fast synth: load @cdktf/provider-aws's submodules on first use.
 *
 * stacks/fast_imports.py puts `--require <this file>` into NODE_OPTIONS while jsii starts its Node
 * process, and describes what it expects in BYOC_LAZY_PROVIDER ({"name", "version", "sha256"}).
 * Without that variable this file does nothing (NODE_OPTIONS reaches every Node process jsii
 * starts: its launcher, the kernel, workers).
 *
 * Why it is safe: jsii's kernel loads an assembly with `require(<package root>)` and keeps the
 * exports as the assembly's "closure"; it resolves an fqn such as `@cdktf/provider-aws.vpc.Vpc` by
 * walking properties (closure.vpc.Vpc) and, for jsii >= 1.19 assemblies like this one, never
 * enumerates them. The provider's lib/index.js is generated code that does only this:
 *     Object.defineProperty(exports, "__esModule", { value: true });
 *     exports.a = exports.b = ... = void 0;        (creates the keys, rightmost first)
 *     exports.a = require("./a");                   (x 2135: ~250 MB of JS, 1.6-5 s)
 * and every submodule requires only cdktf and defines its classes (no side effect on another).
 * So we build the same object without running the file: same "__esModule", same keys in the same
 * order, enumerable; each key is a getter that runs the original `module.require("./a")` on first
 * access and then replaces itself with the same plain data property the file would have set.
 *
 * Traps:
 * - Only the exact file is handled: package name + version + sha256 of index.js must match, and
 *   the parse must account for every line. Otherwise the file loads normally and one line
 *   `byoc: fast synth (node) unavailable (...)` goes to stderr (the kernel's stderr reaches the
 *   Python process through jsii's console forwarding).
 * - The path differs by jsii version and cache (a temp `jsii-kernel-*` folder, symlinks into
 *   ~/.cache/aws/jsii/package-cache), so the file is recognised by its package.json, not its path.
 * - Any error in here must not break Node: everything is wrapped, and fails open to normal loading.
 * BYOC_LAZY_PROVIDER_DEBUG=1 reports activation and, at exit, how many submodules were loaded.
 */
(function main() {
  const spec = process.env.BYOC_LAZY_PROVIDER;
  if (!spec) return;
  const fs = require('fs');
  const path = require('path');
  const crypto = require('crypto');
  const Module = require('module');
  const debug = process.env.BYOC_LAZY_PROVIDER_DEBUG === '1';

  function notice(reason) {
    process.stderr.write(`byoc: fast synth (node) unavailable (${reason}); loading the provider normally\n`);
  }

  let expected;
  try {
    expected = JSON.parse(spec);
  } catch (err) {
    notice('BYOC_LAZY_PROVIDER is not JSON');
    return;
  }
  const original = Module._extensions && Module._extensions['.js'];
  if (typeof original !== 'function') {
    notice(`no Module._extensions['.js'] in Node ${process.version}`);
    return;
  }

  const VOID_LINE = /^exports\.[A-Za-z_$][\w$]*( = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
  const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
  const OTHER_LINES = [/^"use strict";$/, /^\/\*\*$/, /^ \*( .*)?$/, /^ \*\/$/, /^\/\/.*$/, /^$/,
    /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/];

  // Returns {order, targets} for the expected file, or throws with the reason it is not that file.
  function plan(filename, pkg) {
    if (pkg.version !== expected.version) throw new Error(`${pkg.name} ${pkg.version}, expected ${expected.version}`);
    const source = fs.readFileSync(filename);
    if (crypto.createHash('sha256').update(source).digest('hex') !== expected.sha256) {
      throw new Error(`${pkg.name}/lib/index.js is not the one of ${expected.version}`);
    }
    const order = [];
    const targets = new Map();
    for (const line of source.toString('utf8').split(/\r?\n/)) {
      let m;
      if (VOID_LINE.test(line)) {
        // `exports.a = exports.b = void 0` assigns right to left: b's key is created before a's.
        const names = line.slice(0, -' = void 0;'.length).split(' = ').map((s) => s.slice('exports.'.length));
        order.push(...names.reverse());
      } else if ((m = REQUIRE_LINE.exec(line))) {
        if (targets.has(m[1])) throw new Error(`index.js assigns ${m[1]} twice`);
        targets.set(m[1], m[2]);
      } else if (!OTHER_LINES.some((re) => re.test(line))) {
        throw new Error(`unexpected line in index.js: ${line.slice(0, 60)}`);
      }
    }
    if (!targets.size || order.length !== targets.size || !order.every((n) => targets.has(n))) {
      throw new Error('index.js does not declare exactly the submodules it requires');
    }
    return { order, targets };
  }

  function defineLazyExports(module, { order, targets }) {
    const exp = module.exports; // the fresh {} Node made for this module (Module.prototype.load)
    let loaded = 0;
    const settle = (name, value) => Object.defineProperty(exp, name, {
      value, writable: true, enumerable: true, configurable: true, // = what `exports.a = ...` makes
    });
    Object.defineProperty(exp, '__esModule', { value: true });
    for (const name of order) {
      const request = targets.get(name);
      Object.defineProperty(exp, name, {
        enumerable: true,
        configurable: true,
        get() {
          const value = module.require(request); // the file's own `require`, same parent and cache
          loaded += 1;
          settle(name, value);
          return value;
        },
        set(value) {
          settle(name, value);
        },
      });
    }
    if (debug) {
      process.stderr.write(`byoc-debug: lazy provider exports active (${expected.name} ${expected.version}, ${order.length} submodules)\n`);
      process.on('exit', () => process.stderr.write(`byoc-debug: lazy provider loaded ${loaded} of ${order.length} submodules\n`));
    }
  }

  let handled = false;
  Module._extensions['.js'] = function byocLazyProvider(module, filename) {
    if (handled || path.basename(filename) !== 'index.js') return original.apply(this, arguments);
    let pkg;
    const root = path.dirname(path.dirname(filename));
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    } catch (err) {
      return original.apply(this, arguments); // not a package's lib/index.js
    }
    if (!pkg || pkg.name !== expected.name || path.resolve(root, pkg.main || '') !== filename) {
      return original.apply(this, arguments);
    }
    handled = true;
    let steps;
    try {
      steps = plan(filename, pkg);
    } catch (err) {
      notice(err.message);
      return original.apply(this, arguments);
    }
    return defineLazyExports(module, steps);
  };
})();
