// Placeholder: filled in by the modbus codec work.
export {};
