/**
 * Nested paging: the G-stage (gPA -> hPA) under the H extension, walked by the hart together with
 * the guest's own tables (the two-dimensional walk). Its table code is host/vmm/gstage.ts; this
 * module is its place among the paging techniques (shadow.ts is the other).
 */
export { GStage, HGATP_MODE_SV39X4 } from '../gstage';
