/** The rate-control check now lives in the one validation module; this path stays for existing imports. */
export { checkRateControl } from './validate';
