export { startPebble, validatePebbleOptions, type Pebble, type PebbleOptions } from "./pebble";
export { legoRenew, legoRun, type LegoTarget } from "./lego";
