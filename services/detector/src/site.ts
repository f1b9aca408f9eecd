import { readFile } from 'node:fs/promises';
import { ModelError, loadModel, metadataPath } from '@soc/model';
import { EvidenceCalibration } from '@soc/signals';
import { z } from '@soc/schema';
import type { EvidenceModel } from './evidence.ts';

/** The part of a site model's metadata json that carries its evidence calibration. */
export const SiteSection = z.object({ site: EvidenceCalibration });

/** Loads a site model (autoencoder + evidence calibration); a KDD model (no `site`) is refused with the reason. */
export async function loadSiteModel(path: string): Promise<EvidenceModel> {
  const meta = SiteSection.safeParse(JSON.parse(await readFile(metadataPath(path), 'utf8')));
  if (!meta.success) throw new ModelError(`${path} is not a site model (no valid site calibration): ${meta.error.message}`);
  const model = await loadModel(path);
  return { version: model.metadata.version, model, calibration: meta.data.site };
}
