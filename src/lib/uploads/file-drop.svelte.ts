/**
 * Drag and drop of files onto a room: `attach` goes on the room's element (`{@attach drop.attach}`),
 * `active` says when to show the overlay. Only drags that carry files count (a dragged text or
 * link is left alone). While it is attached, a file dropped anywhere else in the window is refused
 * instead of the browser opening it in place of the app.
 *
 * dragenter/dragleave fire for every child crossed, so the overlay follows a depth count; a drop,
 * or the drag leaving the window, resets it.
 */
export class FileDrop {
  active = $state(false);
  private depth = 0;
  private onfiles: (files: File[]) => void;

  constructor(onfiles: (files: File[]) => void) {
    this.onfiles = onfiles;
  }

  attach = (node: HTMLElement) => {
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      this.depth++;
      this.active = true;
    };
    const over = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault(); // allows the drop
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      this.active = true;
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      this.depth = Math.max(0, this.depth - 1);
      if (this.depth === 0) this.active = false;
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      this.reset();
      const files = e.dataTransfer ? [...e.dataTransfer.files] : [];
      if (files.length) this.onfiles(files);
    };
    const outside = (e: DragEvent) => {
      if (!hasFiles(e) || node.contains(e.target as Node)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'none';
      if (e.type === 'drop') this.reset();
    };
    const ended = () => this.reset();
    node.addEventListener('dragenter', enter);
    node.addEventListener('dragover', over);
    node.addEventListener('dragleave', leave);
    node.addEventListener('drop', drop);
    window.addEventListener('dragover', outside);
    window.addEventListener('drop', outside);
    window.addEventListener('dragend', ended);
    return () => {
      node.removeEventListener('dragenter', enter);
      node.removeEventListener('dragover', over);
      node.removeEventListener('dragleave', leave);
      node.removeEventListener('drop', drop);
      window.removeEventListener('dragover', outside);
      window.removeEventListener('drop', outside);
      window.removeEventListener('dragend', ended);
    };
  };

  private reset(): void {
    this.depth = 0;
    this.active = false;
  }
}

const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
