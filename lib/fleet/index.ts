export * from './hybrid-fleet-central-reference';
export * from './fleet-alert-bus';
export * from './fleet-observability-link';
export * from './fleet-observability-sink';
export * from './hybrid-fleet-central';
export * from './hybrid-fleet-member';
export * from './hybrid-fleet';
