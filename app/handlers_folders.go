package app

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"quire/store"
)

func (s *Server) listFolders(c *fiber.Ctx) error {
	fs, err := s.store.ListFolders(c.UserContext(), workspaceOf(c).ID, userOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(list[folderJSON]{Items: mapSlice(fs, folderView)})
}

type folderInput struct {
	Name     *string `json:"name"`
	ParentID *int64  `json:"parent_id"`
}

func folderError(err error) error {
	if errors.Is(err, store.ErrInvalidParent) {
		return invalid("parent_id", "a folder can only sit inside one of your top-level folders (folders nest one level deep)")
	}
	return err
}

func (s *Server) createFolder(c *fiber.Ctx) error {
	var in folderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return invalid("name", "name must not be empty")
	}
	name, err := checkName("name", *in.Name, true)
	if err != nil {
		return err
	}
	var parent int64
	if in.ParentID != nil {
		parent = *in.ParentID
	}
	f, err := s.store.CreateFolder(c.UserContext(), workspaceOf(c).ID, userOf(c).ID, parent, name)
	if err != nil {
		return folderError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(folderView(f))
}

// folderOf is the {id} folder of a FolderOwner route, loaded by authorize.
func folderOf(c *fiber.Ctx) *store.Folder {
	return folderLocal.get(c)
}

func (s *Server) patchFolder(c *fiber.Ctx) error {
	var in folderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	f := folderOf(c)
	if in.Name != nil {
		name, err := checkName("name", *in.Name, true)
		if err != nil {
			return err
		}
		f.Name = name
	}
	if in.ParentID != nil {
		f.ParentID = *in.ParentID
	}
	if err := s.store.UpdateFolder(c.UserContext(), f.WorkspaceID, f.ID, f.Name, f.ParentID); err != nil {
		return folderError(err)
	}
	return c.JSON(folderView(f))
}

func (s *Server) deleteFolder(c *fiber.Ctx) error {
	f := folderOf(c)
	if err := s.store.DeleteFolder(c.UserContext(), f.WorkspaceID, f.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
