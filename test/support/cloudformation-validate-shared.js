'use strict';
/*
 * aws-cdk-lib's `@aws/cloudformation-validate`, loaded once per jest worker (by jest-environment.js), with engines
 * reused for one configuration.
 *
 * aws-cdk-lib builds a new `CompositeEngine(config)` whenever a synthesized template has a resource type the current
 * engine was not built for, and frees the old one. Its config only lists the rego rules of the types involved (and the
 * extra rules or schemas a user configured), and the schemas of every type are always loaded, so an engine built for
 * the same config validates any template the same way. Engines are kept by config; `free()` of a shared engine is a
 * no-op (the worker's exit frees it).
 *
 * Validation is a pure function of the engine's configuration, the template text and the validation options, and test
 * files synthesize the same templates again and again (a default construct in a stack of the same name, one app read
 * by several assertions): each report is kept by those three, and an unchanged template is not validated twice in a
 * worker. The report's `filePath` is the only part that names the file, and is set to the one asked for.
 */
const { createHash } = require('crypto');
const path = require('path');

const cdkLibDir = path.dirname(require.resolve('aws-cdk-lib/package.json'));
const real = require(require.resolve('@aws/cloudformation-validate', { paths: [cdkLibDir] }));

const engines = new Map();

/** Reports by engine configuration, template text and options (see above); cleared when it grows past MAX_REPORTS. */
const reports = new Map();
const MAX_REPORTS = 10000;

/** The text of a `TemplateContent` (a string or bytes), or undefined for anything else. */
function templateText(template) {
  const content = template !== null && typeof template === 'object' ? template.content : undefined;
  if (typeof content === 'string') return content;
  if (content instanceof Uint8Array) return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
  return undefined;
}

/** `engine.validateTemplate(template, config)`, or its kept report for the same engine, text and options. */
function validateOnce(engineKey, engine, template, config) {
  const text = templateText(template);
  if (text === undefined) return engine.validateTemplate(toThisRealm(template), toThisRealm(config));
  const key = createHash('sha256').update(engineKey).update('\0').update(JSON.stringify(config ?? null)).update('\0').update(text).digest('hex');
  let report = reports.get(key);
  if (report === undefined) {
    report = engine.validateTemplate(template, toThisRealm(config));
    if (reports.size >= MAX_REPORTS) reports.clear();
    reports.set(key, report);
  }
  return Object.assign(Object.create(Object.getPrototypeOf(report)), report, { filePath: template.name });
}

/**
 * Plain objects and arrays made by code under jest come from the test file's realm; the validator's bindings accept
 * only objects of their own realm ("validation config must contain only plain objects…"), so they are copied here.
 * Instances of the validator's own classes (TemplateContent, …) pass through.
 */
function toThisRealm(value) {
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value) || proto === null || (proto.constructor && proto.constructor.name === 'Object')) {
    return JSON.parse(JSON.stringify(value));
  }
  return value;
}

class CompositeEngine {
  constructor(config) {
    const key = JSON.stringify(config === undefined ? null : config);
    let engine = engines.get(key);
    if (!engine) {
      engine = new real.CompositeEngine(toThisRealm(config));
      engines.set(key, engine);
    }
    return new Proxy(engine, {
      get(target, property) {
        if (property === 'free') return () => {};
        if (property === 'validateTemplate') return (template, config) => validateOnce(key, target, template, config);
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? (...args) => value.apply(target, args.map(toThisRealm)) : value;
      },
    });
  }
}

module.exports = {
  GLOBAL_KEY: '__cdkSsmHybridFleetCloudFormationValidate',
  module: Object.assign({}, real, { CompositeEngine }),
};
