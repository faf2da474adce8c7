// Placeholder: filled in by the pulse codec work.
export {};
