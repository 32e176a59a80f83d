/**
 * QR codes drawn on the phone (the check-in code hall staff scan): qrcode-generator encodes the
 * text (byte mode, error correction M, smallest version that fits) and writes a GIF as a data
 * URL that WeChat's <image> shows; no canvas, no network.
 */
import qrcode from 'qrcode-generator'

/** qrDataURL gives a data:image/gif;base64 URL of the QR code of text. */
export function qrDataURL(text: string, cellSize = 6, margin = 4): string {
  const qr = qrcode(0, 'M')
  qr.addData(text, 'Byte')
  qr.make()
  return qr.createDataURL(cellSize, margin)
}
