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
 */
const path = require('path');

const cdkLibDir = path.dirname(require.resolve('aws-cdk-lib/package.json'));
const real = require(require.resolve('@aws/cloudformation-validate', { paths: [cdkLibDir] }));

const engines = new Map();

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
