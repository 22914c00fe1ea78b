// The MaskEditor's front end (anywidget ES module; no build step, nothing fetched at run time).
// All painting stays in the browser; "Apply" sends the finished mask to Python once, as a PNG at the
// preview's size (white = change, black = keep). See kie_widgets/widgets/mask.py for the traits.

const MAX_UNDO = 30;
const PAINT = "rgba(255, 40, 80, 1)";

function button(text, title, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "kie-mask-button";
  b.textContent = text;
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

function slider(text, min, max, step, value, onInput) {
  const label = document.createElement("label");
  label.className = "kie-mask-slider";
  const span = document.createElement("span");
  span.textContent = text;
  const input = document.createElement("input");
  input.type = "range";
  input.min = String(min);
  input.max = String(max);
  input.step = String(step);
  input.value = String(value);
  input.setAttribute("aria-label", text);
  const shown = document.createElement("output");
  shown.textContent = String(value);
  input.addEventListener("input", () => {
    shown.textContent = input.value;
    onInput(Number(input.value));
  });
  label.append(span, input, shown);
  return { label, input, shown };
}

function canvas(width, height, className) {
  const c = document.createElement("canvas");
  c.width = width;
  c.height = height;
  c.className = className;
  return c;
}

function bytesOf(value) {
  if (!value) return null;
  if (value instanceof DataView) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

// Repaint every pixel in the mask colour, opaque where `isOn(pixels, i)` holds and clear elsewhere.
function repaint(data, isOn) {
  const px = data.data;
  for (let i = 0; i < px.length; i += 4) {
    const on = isOn(px, i);
    px[i] = 255;
    px[i + 1] = 40;
    px[i + 2] = 80;
    px[i + 3] = on ? 255 : 0;
  }
  return data;
}

async function bitmapOf(bytes, mime) {
  return await createImageBitmap(new Blob([bytes], { type: mime }));
}

function render({ model, el }) {
  const width = model.get("preview_width");
  const height = model.get("preview_height");
  const root = document.createElement("div");
  root.className = "kie-mask";

  // ---- toolbar -------------------------------------------------------------------------------
  const tools = {};
  let tool = "brush";
  const toolbar = document.createElement("div");
  toolbar.className = "kie-mask-toolbar";
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Mask tools");
  const pick = (name) => {
    tool = name;
    for (const [key, b] of Object.entries(tools)) {
      b.setAttribute("aria-pressed", String(key === name));
    }
    stage.dataset.tool = name;
  };
  for (const [name, text, title] of [
    ["brush", "Brush", "Paint the area to change"],
    ["eraser", "Eraser", "Erase painted area"],
    ["rectangle", "Rectangle", "Drag to fill a rectangle"],
    ["ellipse", "Ellipse", "Drag to fill an ellipse"],
    ["pan", "Pan", "Drag to move a zoomed image"],
  ]) {
    tools[name] = button(text, title, () => pick(name));
    toolbar.append(tools[name]);
  }
  const actions = document.createElement("div");
  actions.className = "kie-mask-toolbar";
  const size = slider("Brush size", 1, 200, 1, model.get("brush_size"), (v) => {
    model.set("brush_size", v);
    model.save_changes();
  });
  const opacity = slider("Overlay opacity", 0, 1, 0.05, model.get("overlay_opacity"), (v) => {
    model.set("overlay_opacity", v);
    model.save_changes();
  });

  // ---- stage: image, mask (painted in red), shape preview --------------------------------------
  const viewport = document.createElement("div");
  viewport.className = "kie-mask-viewport";
  const stage = document.createElement("div");
  stage.className = "kie-mask-stage";
  const base = canvas(width, height, "kie-mask-image");
  const mask = canvas(width, height, "kie-mask-overlay");
  const ghost = canvas(width, height, "kie-mask-ghost");
  mask.setAttribute("aria-label", "Mask: paint where the image should change");
  mask.setAttribute("role", "img");
  stage.append(base, mask, ghost);
  viewport.append(stage);
  const mctx = mask.getContext("2d", { willReadFrequently: true });
  const gctx = ghost.getContext("2d");

  const status = document.createElement("div");
  status.className = "kie-mask-status";
  status.setAttribute("role", "status");
  const local = document.createElement("span");
  const remote = document.createElement("span");
  status.append(remote, local);

  // ---- history -------------------------------------------------------------------------------
  const undo = [];
  const redo = [];
  let dirty = false;
  const markDirty = (value) => {
    dirty = value;
    local.textContent = dirty ? " Unapplied changes." : "";
  };
  const snapshot = () => {
    undo.push(mctx.getImageData(0, 0, width, height));
    if (undo.length > MAX_UNDO) undo.shift();
    redo.length = 0;
  };
  const restore = (from, to) => {
    if (!from.length) return;
    to.push(mctx.getImageData(0, 0, width, height));
    mctx.putImageData(from.pop(), 0, 0);
    markDirty(true);
  };

  // ---- zoom and pan --------------------------------------------------------------------------
  let zoom = 1;
  const setZoom = (value) => {
    zoom = Math.min(8, Math.max(0.05, value));
    stage.style.width = `${Math.round(width * zoom)}px`;
    stage.style.height = `${Math.round(height * zoom)}px`;
  };
  const fit = () => {
    const room = el.clientWidth || viewport.clientWidth || width;
    setZoom(Math.min(1, room / width));
  };

  const applyOpacity = () => {
    mask.style.opacity = String(model.get("overlay_opacity"));
  };

  // ---- painting ------------------------------------------------------------------------------
  const at = (event) => {
    const box = mask.getBoundingClientRect();
    return [
      ((event.clientX - box.left) / box.width) * width,
      ((event.clientY - box.top) / box.height) * height,
    ];
  };
  const dab = (from, to) => {
    mctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    mctx.strokeStyle = PAINT;
    mctx.fillStyle = PAINT;
    mctx.lineCap = "round";
    mctx.lineJoin = "round";
    mctx.lineWidth = model.get("brush_size");
    mctx.beginPath();
    mctx.moveTo(from[0], from[1]);
    mctx.lineTo(to[0], to[1]);
    mctx.stroke();
  };
  const shapePath = (ctx, a, b) => {
    const x = Math.min(a[0], b[0]);
    const y = Math.min(a[1], b[1]);
    const w = Math.abs(b[0] - a[0]);
    const h = Math.abs(b[1] - a[1]);
    ctx.beginPath();
    if (tool === "ellipse") {
      ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
    } else {
      ctx.rect(x, y, w, h);
    }
  };
  let drag = null;
  ghost.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    ghost.setPointerCapture(event.pointerId);
    const point = at(event);
    drag = { start: point, last: point, scroll: [event.clientX, event.clientY] };
    if (tool === "brush" || tool === "eraser") {
      snapshot();
      dab(point, point);
      markDirty(true);
    }
    event.preventDefault();
  });
  const ring = (point) => {
    // The brush's outline follows the pointer, so its size on screen is visible before painting.
    gctx.clearRect(0, 0, width, height);
    if (tool !== "brush" && tool !== "eraser") return;
    gctx.beginPath();
    gctx.arc(point[0], point[1], model.get("brush_size") / 2, 0, 2 * Math.PI);
    gctx.lineWidth = Math.max(1, 1 / zoom);
    gctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    gctx.stroke();
  };
  ghost.addEventListener("pointerleave", () => {
    if (!drag) gctx.clearRect(0, 0, width, height);
  });
  ghost.addEventListener("pointermove", (event) => {
    const point = at(event);
    if (!drag) {
      ring(point);
      return;
    }
    if (tool === "pan") {
      viewport.scrollLeft -= event.clientX - drag.scroll[0];
      viewport.scrollTop -= event.clientY - drag.scroll[1];
      drag.scroll = [event.clientX, event.clientY];
    } else if (tool === "brush" || tool === "eraser") {
      dab(drag.last, point);
      ring(point);
    } else {
      gctx.clearRect(0, 0, width, height);
      gctx.fillStyle = "rgba(255, 40, 80, 0.35)";
      gctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
      gctx.lineWidth = Math.max(1, 1 / zoom);
      shapePath(gctx, drag.start, point);
      gctx.fill();
      gctx.stroke();
    }
    drag.last = point;
  });
  const finish = (event) => {
    if (!drag) return;
    const point = event.type === "pointercancel" ? drag.last : at(event);
    if (tool === "rectangle" || tool === "ellipse") {
      gctx.clearRect(0, 0, width, height);
      if (point[0] !== drag.start[0] && point[1] !== drag.start[1]) {
        snapshot();
        mctx.globalCompositeOperation = "source-over";
        mctx.fillStyle = PAINT;
        shapePath(mctx, drag.start, point);
        mctx.fill();
        markDirty(true);
      }
    }
    drag = null;
  };
  ghost.addEventListener("pointerup", finish);
  ghost.addEventListener("pointercancel", finish);
  viewport.addEventListener(
    "wheel",
    (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      setZoom(zoom * (event.deltaY < 0 ? 1.15 : 1 / 1.15));
    },
    { passive: false },
  );

  // ---- whole-mask actions --------------------------------------------------------------------
  const invert = () => {
    snapshot();
    const data = mctx.getImageData(0, 0, width, height);
    mctx.putImageData(
      repaint(data, (px, i) => px[i + 3] < 128),
      0,
      0,
    );
    markDirty(true);
  };
  const clear = () => {
    snapshot();
    mctx.clearRect(0, 0, width, height);
    markDirty(true);
  };
  let applying = false;
  const apply = async () => {
    const out = canvas(width, height, "");
    const octx = out.getContext("2d");
    const src = mctx.getImageData(0, 0, width, height).data;
    const dst = octx.createImageData(width, height);
    for (let i = 0; i < src.length; i += 4) {
      const v = src[i + 3] >= 128 ? 255 : 0;
      dst.data[i] = v;
      dst.data[i + 1] = v;
      dst.data[i + 2] = v;
      dst.data[i + 3] = 255;
    }
    octx.putImageData(dst, 0, 0);
    const blob = await new Promise((resolve) => out.toBlob(resolve, "image/png"));
    const buffer = await blob.arrayBuffer();
    applying = true;
    try {
      model.set("mask_png", new DataView(buffer));
      model.set("apply_count", model.get("apply_count") + 1);
      model.save_changes();
    } finally {
      applying = false;
    }
    markDirty(false);
  };

  actions.append(
    button("Invert", "Swap the areas to change and to keep", invert),
    button("Clear", "Remove the whole mask", clear),
    button("Undo", "Undo the last change", () => restore(undo, redo)),
    button("Redo", "Redo what was undone", () => restore(redo, undo)),
    button("Zoom in", "Show the image larger", () => setZoom(zoom * 1.25)),
    button("Zoom out", "Show the image smaller", () => setZoom(zoom / 1.25)),
    button("Fit", "Fit the image to the width", fit),
    size.label,
    opacity.label,
  );
  const applyButton = button("Apply", "Send the mask to Python", () => {
    apply().catch((err) => {
      local.textContent = ` Apply failed: ${err}`;
    });
  });
  applyButton.classList.add("kie-mask-apply");
  actions.append(applyButton);

  // ---- from Python ---------------------------------------------------------------------------
  const drawImage = async () => {
    const bytes = bytesOf(model.get("image_data"));
    if (!bytes) return;
    const bitmap = await bitmapOf(bytes, `image/${model.get("image_format")}`);
    base.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  };
  const loadMask = async () => {
    if (applying) return;
    const bytes = bytesOf(model.get("mask_png"));
    snapshot();
    mctx.clearRect(0, 0, width, height);
    if (bytes && bytes.length) {
      const bitmap = await bitmapOf(bytes, "image/png");
      const tmp = canvas(width, height, "");
      const tctx = tmp.getContext("2d", { willReadFrequently: true });
      tctx.drawImage(bitmap, 0, 0, width, height);
      // Python sends white = change on black; the overlay shows it in the mask colour.
      const data = tctx.getImageData(0, 0, width, height);
      mctx.putImageData(
        repaint(data, (px, i) => px[i] >= 128),
        0,
        0,
      );
    }
    markDirty(false);
  };
  const showStatus = () => {
    remote.textContent = model.get("status");
  };
  const sync = () => {
    size.input.value = String(model.get("brush_size"));
    size.shown.textContent = size.input.value;
    opacity.input.value = String(model.get("overlay_opacity"));
    opacity.shown.textContent = opacity.input.value;
    applyOpacity();
  };
  const onMask = () => {
    loadMask().catch((err) => {
      local.textContent = ` The mask from Python could not be shown: ${err}`;
    });
  };
  model.on("change:mask_png", onMask);
  model.on("change:status", showStatus);
  model.on("change:brush_size", sync);
  model.on("change:overlay_opacity", sync);

  // Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z or Ctrl+Y redoes, while the editor has the focus.
  root.tabIndex = 0;
  // Lumino (JupyterLab, Notebook 7) leaves keys inside such an element to it, instead of undoing cells.
  root.dataset.lmSuppressShortcuts = "true";
  root.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) restore(undo, redo);
    else if (key === "y" || (key === "z" && event.shiftKey)) restore(redo, undo);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });

  root.append(toolbar, actions, viewport, status);
  el.append(root);
  pick("brush");
  sync();
  showStatus();
  setZoom(1);
  requestAnimationFrame(fit);
  drawImage().catch((err) => {
    local.textContent = ` The image could not be shown: ${err}`;
  });
  if (bytesOf(model.get("mask_png"))?.length) onMask();
  undo.length = 0;

  return () => {
    model.off("change:mask_png", onMask);
    model.off("change:status", showStatus);
    model.off("change:brush_size", sync);
    model.off("change:overlay_opacity", sync);
  };
}

export default { render };
