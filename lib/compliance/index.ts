export * from './compliance-dashboard';
