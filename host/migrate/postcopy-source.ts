/**
 * The source's side of post-copy after the switch (docs/migration.md "Post-copy"): the guest
 * runs on the target now; this side pushes the pages the target lacks in the background, in
 * ascending order and a few at a time, and answers the target's FETCHes (the pages its guest
 * touched first) ahead of the push. It ends with END, once every page has been sent, and the
 * target's COMPLETE. Every page goes once: a FETCH for a page already on its way is ignored.
 */
import { VirtioMmio } from '../devices/virtio/mmio';
import { Machine } from '../machine/machine';
import { Vm } from '../vmm/vm';
import { In, MSG, Out, StreamError, type MessageReader } from './stream';

/** Virtio device IDs (virtio 1.2 §5) whose backends write guest memory unasked: network, console. */
const INPUT_DEVICES = new Set([1, 3]);

/**
 * Pages per background message (256 KiB): a FETCH waits behind at most one such message. Under
 * a bandwidth cap (--migrate-bandwidth), which sleeps after each message, PUSH_BATCH_CAPPED,
 * so that the pages are spread over the cap's time and not sent in a few bursts.
 */
const PUSH_BATCH = 64;
export const PUSH_BATCH_CAPPED = 16;

export interface PostcopySender {
  readonly what: string;
  readonly reader: MessageReader | undefined;
  bytes: number;
  send(type: number, payload: Uint8Array): Promise<void>;
  sendPages(round: number, indices: number[]): Promise<number>;
}

/** Why `target` cannot be migrated by post-copy (or hybrid), or undefined. */
export function whyNotPostcopy(target: Machine | Vm): string | undefined {
  if (target instanceof Vm && (target.cfg.virt ?? 'hw') !== 'hw') {
    return `post-copy needs --virt hw, where a page not arrived yet is a G-stage fault (this VM is --virt ${target.cfg.virt})`;
  }
  // A guest's access to a virtio device waits on the target until every page is in (DMA may
  // follow it); but a backend that delivers input by itself (network, console) does DMA at any time.
  const bus = target instanceof Vm ? target.bus : target.snapshotInternals().bus;
  const input = bus.list().find((w) => w.device instanceof VirtioMmio && INPUT_DEVICES.has(w.device.device.deviceId));
  if (input) return `post-copy of a machine with a ${(input.device as VirtioMmio).device.name} (at 0x${input.base.toString(16)}) is not supported: its backend's input could reach a page that has not arrived`;
  return undefined;
}

/**
 * Push `absent` (RAM page indices, ascending) and serve FETCHes until the target has every
 * page. Returns the pages sent, their bytes, and how many pages the target FETCHed (touched
 * before they arrived; one on its way already is sent once all the same).
 * Throws a StreamError when the stream breaks (the caller: the VM is lost).
 */
export async function pushPostcopy(src: PostcopySender, round: number, absent: number[], batchPages = PUSH_BATCH): Promise<{ pages: number; bytes: number; fetched: number }> {
  const reader = src.reader!;
  const inList = new Set(absent);
  const left = new Set(absent);
  const wanted: number[] = [];
  let next = 0;
  let fetched = 0;
  let failure: unknown;
  let complete = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // The target's messages: FETCHes while pages are pushed, COMPLETE after END.
  const listening = (async () => {
    for (;;) {
      const m = await reader.expect(MSG.FETCH, MSG.COMPLETE);
      if (m.type === MSG.COMPLETE) {
        if (left.size > 0) throw new StreamError(`${src.what}: COMPLETE with ${left.size} pages not sent (corrupt stream)`);
        complete = true;
        poke();
        return;
      }
      const r = new In(m.payload, src.what);
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const page = r.u32();
        if (!inList.has(page)) throw new StreamError(`${src.what}: the target fetched page ${page}, which it was not missing (corrupt stream)`);
        fetched++;
        if (left.has(page)) wanted.push(page);
      }
      r.end();
      poke();
    }
  })().catch((e: unknown) => {
    failure = e;
    poke();
  });

  const before = src.bytes;
  let pages = 0;
  while (left.size > 0) {
    if (failure !== undefined) throw failure;
    const batch: number[] = [];
    while (wanted.length > 0 && batch.length < batchPages) {
      const page = wanted.shift()!;
      if (left.delete(page)) batch.push(page);
    }
    if (batch.length === 0) {
      while (next < absent.length && batch.length < batchPages) {
        const page = absent[next++];
        if (left.delete(page)) batch.push(page);
      }
    }
    await src.sendPages(round, batch);
    pages += batch.length;
    // Let the target's FETCHes in between two batches.
    await new Promise<void>((r) => setImmediate(r));
  }
  await src.send(MSG.END, new Out().result());
  while (!complete) {
    if (failure !== undefined) throw failure;
    await new Promise<void>((r) => (wake = r));
  }
  await listening;
  return { pages, bytes: src.bytes - before, fetched };
}
