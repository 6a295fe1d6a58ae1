export * from './hybrid-fleet-central-reference';
export * from './hybrid-fleet-member';
