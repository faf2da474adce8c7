// Minimal typings for node-mbus (the package ships none): only what the libmbus driver uses.
declare module 'node-mbus' {
  interface MbusMasterOptions {
    host?: string;
    port?: number;
    timeout?: number;
    serialPort?: string;
    serialBaudRate?: number;
    autoConnect?: boolean;
  }
  class MbusMaster {
    constructor(options: MbusMasterOptions);
    connect(cb?: (err: Error | null) => void): boolean;
    close(cb?: (err: Error | null) => void, waitTillClosed?: boolean): boolean;
    getData(address: number | string, options: { pingFirst?: boolean } | null, cb: (err: Error | null, data: unknown) => void): void;
    scanSecondary(cb: (err: Error | null, data: unknown) => void): void;
  }
  export = MbusMaster;
}
