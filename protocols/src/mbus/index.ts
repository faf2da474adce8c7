// Placeholder: filled in by the mbus codec work.
export {};
