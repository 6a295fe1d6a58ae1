export * from './association-schedule';
