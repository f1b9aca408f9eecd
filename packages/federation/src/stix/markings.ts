import type { Tlp } from '@soc/schema';

/** The TLP 2.0 extension for STIX 2.1 (oasis-open/cti-stix-common-objects, tlp-2.0). */
export const TLP2_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The official fixed ids of the TLP 2.0 marking definitions: every producer uses these. */
export const TLP2_MARKING_IDS: Record<Tlp, string> = {
  CLEAR: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'AMBER+STRICT': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** STIX 2.1 §7.2.1.4 TLP 1.0 markings, still what many MISP/OpenCTI exports carry; read on import. */
export const TLP1_MARKING_IDS: Record<'WHITE' | 'GREEN' | 'AMBER' | 'RED', string> = {
  WHITE: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  GREEN: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  AMBER: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  RED: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
};

/** The marking-definition object as published in the TLP 2.0 extension. */
export function tlpMarkingDefinition(tlp: Tlp): Record<string, unknown> {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING_IDS[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${tlp}`,
    extensions: { [TLP2_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: tlp.toLowerCase() } },
  };
}

/** The STIX 2.1 specification's TLP 1.0 marking-definition objects (§7.2.1.4), for re-exporting imports. */
function tlp1MarkingDefinition(color: keyof typeof TLP1_MARKING_IDS): Record<string, unknown> {
  return { type: 'marking-definition', spec_version: '2.1', id: TLP1_MARKING_IDS[color], created: '2017-01-20T00:00:00.000Z', definition_type: 'tlp', name: `TLP:${color}`, definition: { tlp: color.toLowerCase() } };
}

/** The official marking-definition object for a TLP 1.0 or 2.0 marking id; undefined for others. */
export function markingDefinitionOf(id: string): Record<string, unknown> | undefined {
  const v2 = Object.entries(TLP2_MARKING_IDS).find(([, m]) => m === id);
  if (v2) return tlpMarkingDefinition(v2[0] as Tlp);
  const v1 = Object.entries(TLP1_MARKING_IDS).find(([, m]) => m === id);
  return v1 ? tlp1MarkingDefinition(v1[0] as keyof typeof TLP1_MARKING_IDS) : undefined;
}

const BY_ID = new Map<string, Tlp>([
  ...Object.entries(TLP2_MARKING_IDS).map(([t, id]) => [id, t as Tlp] as const),
  [TLP1_MARKING_IDS.WHITE, 'CLEAR'],
  [TLP1_MARKING_IDS.GREEN, 'GREEN'],
  [TLP1_MARKING_IDS.AMBER, 'AMBER'],
  [TLP1_MARKING_IDS.RED, 'RED'],
]);

export const tlpOfMarking = (id: string): Tlp | undefined => BY_ID.get(id);
