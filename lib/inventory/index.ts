export * from './inventory-type';
export * from './inventory-collection';
export * from './inventory-bucket';
export * from './inventory-data-sync';
export * from './inventory-query-layer';
