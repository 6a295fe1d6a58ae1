export * from './hybrid-fleet-central-reference';
