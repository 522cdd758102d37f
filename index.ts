// The library: every component, renderer and validator. The default stack program is stack/index.ts.
export * from "./components";
