package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

func (s *Handlers) ListFolders(c *fiber.Ctx) error {
	fs, err := s.Store.ListFolders(c.UserContext(), request.Workspace(c).ID, request.User(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[FolderJSON]{Items: MapSlice(fs, folderView)})
}

type folderInput struct {
	Name     *string `json:"name"`
	ParentID *int64  `json:"parent_id"`
}

func folderError(err error) error {
	if errors.Is(err, store.ErrInvalidParent) {
		return request.Invalid("parent_id", "a folder can only sit inside one of your top-level folders (folders nest one level deep)")
	}
	return err
}

func (s *Handlers) CreateFolder(c *fiber.Ctx) error {
	var in folderInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return request.Invalid("name", "name must not be empty")
	}
	name, err := checkName("name", *in.Name, true)
	if err != nil {
		return err
	}
	var parent int64
	if in.ParentID != nil {
		parent = *in.ParentID
	}
	f, err := s.Store.CreateFolder(c.UserContext(), request.Workspace(c).ID, request.User(c).ID, parent, name)
	if err != nil {
		return folderError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(folderView(f))
}

func (s *Handlers) PatchFolder(c *fiber.Ctx) error {
	var in folderInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	f := request.Folder(c)
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
	if err := s.Store.UpdateFolder(c.UserContext(), f.WorkspaceID, f.ID, f.Name, f.ParentID); err != nil {
		return folderError(err)
	}
	return c.JSON(folderView(f))
}

func (s *Handlers) DeleteFolder(c *fiber.Ctx) error {
	f := request.Folder(c)
	if err := s.Store.DeleteFolder(c.UserContext(), f.WorkspaceID, f.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
