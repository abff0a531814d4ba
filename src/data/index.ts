/** Dataset input: JSONL and Parquet tables with field mapping. */
export { formatRef, readTable, tableFormat, type RawRow, type RowRef, type SkippedRow, type TableFormat, type TableRead, type TableReadOptions } from "./table.js";
export { DEFAULT_FIELDS, FieldError, fieldMap, getField, loadDataset, questionText, type Dataset, type DatasetOptions, type DatasetRow, type FieldMap } from "./dataset.js";
export { checkVerlExport, readVerlParquet, writeSampleSizes, writeVerlParquet, type VerlMessage, type VerlRecord } from "./verl.js";
