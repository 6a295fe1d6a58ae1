export * from './hybrid-fleet-central-reference';
export * from './fleet-stack-set-template';
export * from './stack-set-operation-preferences';
export * from './fleet-stack-set';
export * from './fleet-alert-bus';
export * from './fleet-observability-link';
export * from './fleet-observability-sink';
export * from './hybrid-fleet-member';
