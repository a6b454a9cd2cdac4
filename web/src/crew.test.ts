import { describe, expect, it } from 'vitest';
import { crewNames } from './crew';

describe('crewNames', () => {
  it('lists every member of a crew, lead first', () => {
    expect(
      crewNames([
        { id: 'tech-paris-006', name: 'Louis Richard' },
        { id: 'tech-paris-002', name: 'Lucas Bernard' },
        { id: 'splicer-paris-2', name: 'Paris splicer 2' },
      ]),
    ).toEqual(['Louis Richard', 'Lucas Bernard', 'Paris splicer 2']);
  });

  it('lists nobody for a job of one resource, or none known', () => {
    expect(crewNames([{ id: 'tech-paris-002', name: 'Lucas Bernard' }])).toEqual([]);
    expect(crewNames([])).toEqual([]);
    expect(crewNames(undefined)).toEqual([]);
    expect(crewNames(null)).toEqual([]);
  });
});
