/**
 * Checks that the images fit the board before a machine is built, so the user hears which
 * segment is wrong rather than meeting a fault deep in a run: every segment inside RAM (the
 * loader's `checkSegmentsFit`) and, with --bios, no payload segment over the firmware.
 */
import { UserError } from '../errors';
import { checkSegmentsFit } from '../machine/loader';
import type { LoadedImage, Segment } from '../machine/types';

/** RAM base of the virt board. */
export const RAM_BASE = 0x80000000n;

const hex = (v: bigint) => '0x' + v.toString(16);
const end = (s: Segment) => s.paddr + BigInt(Math.max(s.memSize, s.data.length));

/**
 * Throw a UserError naming the image and the segment if a segment of `image` lies outside RAM
 * [RAM_BASE, RAM_BASE + memSize) or overlaps a segment of `firmware`.
 */
export function checkPlacement(image: LoadedImage, memSize: number, firmware?: LoadedImage): void {
  checkSegmentsFit(image, RAM_BASE, memSize);
  for (const seg of image.segments) {
    if (end(seg) === seg.paddr) continue; // empty segments occupy nothing
    for (const fw of firmware?.segments ?? []) {
      if (seg.paddr < end(fw) && fw.paddr < end(seg)) {
        throw new UserError(
          `${image.name}: segment ${hex(seg.paddr)}-${hex(end(seg) - 1n)} overlaps the firmware ` +
            `${firmware!.name} at ${hex(fw.paddr)}-${hex(end(fw) - 1n)}`,
        );
      }
    }
  }
}
