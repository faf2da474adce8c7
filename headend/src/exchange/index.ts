/** File exchange of readings (issue 7): Excel/CSV import and export, scheduled XML exchange. */
export { importReadingRows, ReadingImportRow, ReadingsImportReport, ReadingChange, READING_COLUMNS, type ReadingsImportOptions } from './readings-import.js';
export { listReadings, readingsCsv, readingsXlsx, ReadingsFilter, MAX_EXPORT_ROWS, type ListedReading } from './readings-list.js';
export { readingsXml, xmlToRows, XmlFileError, XML_FORMAT_VERSION } from './xml.js';
export { runExchange, getConfig, toRun, type ExchangeConfig, type ExchangeRun, type ExchangeDeps } from './run.js';
export { defineExchangeJobs, scheduleExchangeConfig, exchangeJobsDefined, EXCHANGE_JOB, ExchangeJobData, schedulerId } from './jobs.js';
export { createExchangeMailer, reportSubject, reportText, recipients, type ExchangeMailer } from './report-mail.js';
export { openTransport, describeLocation, localFolder, HostKeyError, TransportError, sshFingerprint, normalizeFingerprint, DEFAULT_PORT, type ExchangeTransport, type TransportConfig, type TransportKind, type TransportTimeouts, type TransportOptions, type ListedFile } from './transports/index.js';
